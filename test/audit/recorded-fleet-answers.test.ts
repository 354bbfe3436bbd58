import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { X509Certificate } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminHandler } from '../../src/lab/scale/admin-handler.js';
import { planFleet } from '../../src/lab/scale/plan.js';
import { FLEET_TEMPLATES, fleetFixtureDir, loadRecordedTemplates, templateKeyOf, type RecordedTemplate } from '../../src/lab/scale/recorded.js';
import { Substitution, type PodValues } from '../../src/lab/scale/substitute.js';
import { startFleet, type RunningFleet } from '../../src/lab/scale/index.js';

/**
 * The scale fleet serves answers recorded from real Envoy (scripts/record-fleet-answers.ts).
 * These tests hold the recordings to that: Envoy's own answers to the audit's queries equal
 * what the fleet computes from the recorded dump (config-dump-query.ts), no private key is
 * stored, the certificates come from the lab CA, and a fleet pod's answers carry its own
 * identity, none of the recorded one.
 */
const templates = loadRecordedTemplates();
const pemsOf = (text: string): string[] => text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];

function identity(ctx: RecordedTemplate['context']): PodValues {
  return { podName: ctx.podName, namespace: ctx.namespace, app: ctx.app, serviceAccount: ctx.serviceAccount, podIp: ctx.podIp,
    istioVersion: ctx.istioVersion, envoyVersion: ctx.envoyVersion, chainPem: ctx.chainPem, rootPem: ctx.rootPem, credentials: ctx.credentials };
}

describe('recorded fleet answers (fixtures/envoy/real-<version>/fleet)', () => {
  it('has every template the fleet plans use, for many sizes and seeds', () => {
    for (const t of FLEET_TEMPLATES) expect(templates.has(t.key), t.key).toBe(true);
    for (const count of [6, 20, 60, 250, 1000]) {
      for (const seed of [1, 2, 3, 5, 7]) {
        for (const p of planFleet(count, seed).proxies) expect(templates.has(templateKeyOf(p)), `${templateKeyOf(p)} (${count}/${seed})`).toBe(true);
      }
    }
  });

  it('comes from the pinned Envoy and says so in PROVENANCE.md', () => {
    const provenance = readFileSync(join(fleetFixtureDir(), 'PROVENANCE.md'), 'utf8');
    for (const t of templates.values()) {
      expect(String(t.serverInfo.version)).toContain(`/${t.context.envoyVersion}/`);
      expect(provenance).toContain(`Envoy: ${t.context.envoyVersion}`);
      expect(provenance).toContain(`\`${t.key}\``);
    }
  });

  it('holds no private key (Envoy redacts them) and only certificates of the lab CAs', () => {
    const dir = fleetFixtureDir();
    for (const key of readdirSync(dir).filter((f) => !f.endsWith('.md'))) {
      for (const f of readdirSync(join(dir, key))) {
        const raw = readFileSync(join(dir, key, f));
        const text = f.endsWith('.gz') ? gunzipSync(raw).toString('utf8') : raw.toString('utf8');
        expect(text, `${key}/${f}`).not.toMatch(/PRIVATE KEY/);
      }
    }
    for (const t of templates.values()) {
      type Source = { inline_string?: string; inline_bytes?: string };
      const secrets = (t.configDump.configs.find((c) => String(c['@type']).endsWith('SecretsConfigDump'))!.dynamic_active_secrets) as { name: string; secret: { tls_certificate?: { certificate_chain: Source; private_key: Source } } }[];
      // Either form Envoy dumps a data source in (istio-agent sends inline_bytes).
      const text = (d: Source) => d.inline_string ?? Buffer.from(d.inline_bytes ?? '', 'base64').toString('utf8');
      const root = new X509Certificate(t.context.rootPem);
      expect(root.subject).toContain('mesh-verify lab');
      for (const s of secrets.filter((x) => x.secret.tls_certificate)) {
        expect(text(s.secret.tls_certificate!.private_key), `${t.key} ${s.name}`).toBe('[redacted]');
        const leaf = new X509Certificate(pemsOf(text(s.secret.tls_certificate!.certificate_chain))[0]);
        if (s.name === 'default') expect(leaf.verify(root.publicKey), `${t.key} default`).toBe(true);
        else expect(leaf.issuer, `${t.key} ${s.name}`).toContain('mesh-verify lab external CA');
      }
    }
  });

  describe('the fleet answers the audit\'s queries as the real Envoy did', () => {
    const servers: http.Server[] = [];
    afterAll(async () => { await Promise.all(servers.map((s) => new Promise((r) => s.close(r)))); });
    const recordedWithQueries = [...templates.values()].filter((t) => Object.keys(t.queries).length > 0);

    it('has recorded queries for a sidecar with a rejected listener, port-level modes and a gateway', () => {
      expect(recordedWithQueries.map((t) => t.key).sort()).toEqual(['gateway-api', 'sidecar-8080+9090-SSP', 'sidecar-8080-PP-rejected']);
    });

    for (const key of ['gateway-api', 'sidecar-8080+9090-SSP', 'sidecar-8080-PP-rejected']) {
      it(`${key}: same status and body for every recorded query`, async () => {
        const t = templates.get(key)!;
        const server = http.createServer(adminHandler(() => ({ template: t, substitution: new Substitution(t.context, identity(t.context)) })));
        servers.push(server);
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
        const port = (server.address() as AddressInfo).port;
        expect(Object.keys(t.queries).length).toBeGreaterThan(10);
        for (const [path, real] of Object.entries(t.queries)) {
          const r = await fetch(`http://127.0.0.1:${port}${path}`);
          const body = await r.text();
          expect(r.status, path).toBe(real.status);
          if (path.startsWith('/stats') && path.includes('format=json')) {
            // Gauges moved between the recordings: the same stats and histograms, by name.
            const names = (s: string) => ((JSON.parse(s) as { stats: { name?: string; histograms?: { computed_quantiles: { name: string }[] } }[] }).stats)
              .flatMap((x) => (x.name ? [x.name] : (x.histograms?.computed_quantiles ?? []).map((q) => `histogram ${q.name}`)));
            expect(names(body), path).toEqual(names(real.body));
          } else if (path.startsWith('/stats')) {
            // Gauges (uptime, memory) moved between the recordings: the same stats, by name.
            const names = (s: string) => s.trim().split('\n').map((l) => l.slice(0, l.indexOf(':')));
            expect(names(body), path).toEqual(names(real.body));
          } else if (real.status === 200) expect(JSON.parse(body), path).toEqual(JSON.parse(real.body));
          else expect(body.trim(), path).toBe(real.body.trim());
        }
      });
    }
  });
});

describe('a fleet pod serves its recorded template with its own identity', () => {
  let fleet: RunningFleet;
  beforeAll(async () => { fleet = await startFleet({ count: 24, seed: 5 }); }, 30_000);
  afterAll(async () => { await fleet?.stop(); });

  it('no recorded pod name, namespace, address or certificate remains; the node and /certs describe the pod', async () => {
    const plan = planFleet(24, 5);
    const readable = plan.proxies.filter((p) => p.variant !== 'unreachable' && p.variant !== 'restarting');
    for (const p of readable) {
      const pod = fleet.pods().find((x) => x.name === p.name)!;
      const ctx = templates.get(templateKeyOf(p))!.context;
      const get = async (path: string) => (await fetch(`http://127.0.0.1:${pod.ports[15000]}${path}`)).text();
      const texts = await Promise.all(['/config_dump?include_eds', '/stats', '/certs', '/clusters?format=json', '/clusters', '/server_info'].map(get));
      for (const text of texts) {
        expect(text).not.toContain(ctx.podName);
        expect(text).not.toMatch(new RegExp(`${ctx.podIp.replace(/\./g, '\\.')}(?![0-9])`));
        if (ctx.namespace !== p.namespace) expect(text).not.toContain(ctx.namespace);
        expect(text).not.toContain(pemsOf(ctx.chainPem)[0]);
      }
      const dump = JSON.parse(texts[0]) as { configs: { bootstrap?: { node: { id: string; metadata: Record<string, unknown> } } }[] };
      const node = dump.configs[0].bootstrap!.node;
      expect(node.id).toBe(`${p.gateway ? 'router' : 'sidecar'}~${p.ip}~${p.name}.${p.namespace}~${p.namespace}.svc.cluster.local`);
      expect(node.metadata.ISTIO_VERSION).toBe(p.istioVersion);
      const certs = JSON.parse(texts[2]) as { certificates: { cert_chain: { subject_alt_names: { uri?: string }[] }[] }[] };
      const uris = new Set(certs.certificates.flatMap((c) => c.cert_chain.flatMap((x) => x.subject_alt_names.map((s) => s.uri)).filter(Boolean)));
      expect([...uris], p.name).toEqual([`spiffe://cluster.local/ns/${p.namespace}/sa/${p.serviceAccount}`]);
    }
  });
});
