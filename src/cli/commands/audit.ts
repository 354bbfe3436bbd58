import { Option, type Command } from 'commander';
import type { CliContext } from '../main.js';
import { UsageError } from '../../core/errors.js';

interface AuditCliOptions {
  context?: string;
  kubeconfig?: string;
  namespace?: string[];
  allNamespaces?: boolean;
  minCertDays: string;
  targetVersion?: string;
  concurrency: string;
  timeoutMs: string;
  exec: boolean;
  output: 'table' | 'wide' | 'json' | 'junit' | 'markdown';
}

function positiveInt(flag: string, v: string, min = 1): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${flag} ${v}: not an integer >= ${min}`, `pass e.g. ${flag} ${Math.max(min, 30)}`);
  return n;
}

/** A namespace name (RFC 1123 label, as Kubernetes validates it). */
const NAMESPACE_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/**
 * `-n a,b`, `-n a -n b` and `-n a b` alike (kubectl's comma lists), deduplicated in order; one
 * usage line for an empty or invalid name.
 */
export function parseNamespaces(values: string[] | undefined): string[] | null {
  if (!values) return null;
  const out: string[] = [];
  for (const value of values) {
    for (const raw of value.split(',')) {
      const ns = raw.trim();
      if (!NAMESPACE_NAME.test(ns)) {
        throw new UsageError(ns ? `-n ${ns}: not a namespace name` : `-n ${JSON.stringify(value)}: empty namespace name`,
          'pass namespace names separated by commas, e.g. -n shop,payments');
      }
      if (!out.includes(ns)) out.push(ns);
    }
  }
  return out;
}

/**
 * `mesh-verify audit`: a read-only encryption audit of an existing mesh (issue 5). Only
 * get/list and pods/portforward (pods/exec as fallback) are used; see
 * fixtures/rbac/audit-readonly.yaml.
 */
export function registerAudit(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('read-only audit of a mesh: where traffic could be plaintext, or stop being encrypted soon')
    .option('--context <name>', 'kubeconfig context (default: the current context)')
    .option('--kubeconfig <file>', 'kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)')
    .option('-n, --namespace <ns...>', 'audit these namespaces only (comma list or repeated: -n a,b); control plane and mesh-wide policy are always read')
    .option('-A, --all-namespaces', 'audit every namespace (the default)')
    .option('--min-cert-days <n>', 'warn about mesh root, intermediates and gateway credentials expiring within N days', '30')
    .option('--target-version <x.y>', 'Istio version you plan to upgrade to: flag proxies that would fall outside the supported skew')
    .option('--concurrency <n>', 'proxies read at once', '16')
    .option('--timeout-ms <n>', 'bound for each proxy read (and each API request)', '10000')
    .option('--no-exec', 'never fall back to pods/exec when pods/portforward is refused')
    .addOption(new Option('-o, --output <format>', 'output format (wide: the table without wrapping)').choices(['table', 'wide', 'json', 'junit', 'markdown']).default('table'))
    .addHelpText('after', `
Exit codes: 0 no error-level finding, 1 error findings, 3 some proxies (or every proxy) could not
be read, or none runs in the namespaces audited (and no error finding), 2 usage (also a namespace
that does not exist), 4 environment (kubeconfig, cluster, rights).
Rights needed (read-only): fixtures/rbac/audit-readonly.yaml`)
    .action(async (opts: AuditCliOptions) => {
      if (opts.namespace && opts.allNamespaces) throw new UsageError('-n and -A exclude each other', 'pass either -n NS ... or -A');
      const minCertDays = positiveInt('--min-cert-days', opts.minCertDays, 0);
      const concurrency = positiveInt('--concurrency', opts.concurrency);
      const timeoutMs = positiveInt('--timeout-ms', opts.timeoutMs, 100);
      const namespaces = parseNamespaces(opts.namespace);
      if (opts.targetVersion !== undefined && !/^\d+\.\d+(\.\d+)?$/.test(opts.targetVersion)) {
        throw new UsageError(`--target-version ${opts.targetVersion}: not an Istio version`, 'pass MAJOR.MINOR, e.g. --target-version 1.24');
      }
      const [{ connectKube }, { runAudit }, { createProgress }, { isLabApi }] = await Promise.all([
        import('../../cluster/kube-client.js'), import('../../collect/audit/run-audit.js'), import('../../core/progress.js'),
        import('../../cluster/lab-marker.js'),
      ]);
      const progress = await createProgress({ quiet: ctx.quiet() });
      const clients = await connectKube({ kubeconfig: opts.kubeconfig, context: opts.context, timeoutMs });
      // The rights of fixtures/rbac/audit-readonly.yaml, checked before reading anything.
      const { checkRights, auditAccessChecks } = await import('../../cluster/preflight.js');
      const rights = await checkRights(clients, auditAccessChecks(namespaces ?? []),
        { fix: 'grant the rights of fixtures/rbac/audit-readonly.yaml (kubectl apply -f it and bind the ClusterRole mesh-verify-audit-readonly)' });
      if (rights.warning) process.stderr.write(`warning: ${rights.warning}\n`);
      const simulated = await isLabApi(clients, timeoutMs);
      const step = progress.step(`auditing ${clients.context} (${clients.server})`);
      let lastLine = 0;
      let report;
      try {
        report = await runAudit(clients, {
          namespaces, minCertDays, targetVersion: opts.targetVersion ?? null, concurrency, timeoutMs,
          allowExec: opts.exec, simulated,
          onProgress: (p) => {
            const now = Date.now();
            if (p.done !== p.total && now - lastLine < 1000) return;
            lastLine = now;
            step.update(`proxies ${p.done}/${p.total} read, ${p.unreadable} unreadable, ${p.findings} findings`);
          },
        });
      } catch (err) {
        step.fail();
        throw err;
      }
      step.succeed(`${report.proxies.read}/${report.proxies.total} proxies read, ${report.findings.length} findings in ${(report.durationMs / 1000).toFixed(1)} s`);
      const render = {
        table: async () => (await import('../../report/audit-table.js')).renderAuditTable(report, { width: (await import('../terminal-width.js')).tableWidth() }),
        wide: async () => (await import('../../report/audit-table.js')).renderAuditTable(report, { width: null }),
        json: async () => (await import('../../report/audit-json.js')).renderAuditJson(report),
        junit: async () => (await import('../../report/audit-junit.js')).renderAuditJunit(report),
        markdown: async () => (await import('../../report/audit-markdown.js')).renderAuditMarkdown(report),
      }[opts.output];
      process.stdout.write(await render());
      ctx.exitCode = report.exitCode;
    });
}
