import { pinnedVersions } from '../topology/versions.js';

/** How to install the pinned kind (one line, for error fixes). */
export function kindInstallHint(version = pinnedVersions().kind): string {
  return `install kind ${version}: go install sigs.k8s.io/kind@${version} (or download https://kind.sigs.k8s.io/dl/${version}/kind-linux-amd64 onto your PATH)`;
}

/** How to install the pinned istioctl (one line, for error fixes). */
export function istioctlInstallHint(version = pinnedVersions().istio): string {
  return `install istioctl ${version}: curl -sL https://istio.io/downloadIstioctl | ISTIO_VERSION=${version} sh - && export PATH=$HOME/.istioctl/bin:$PATH`;
}
