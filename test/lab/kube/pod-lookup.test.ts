import { describe, expect, it } from 'vitest';
import { podLookup } from '../../../src/lab/kube/pod-lookup.js';
import type { LabPod } from '../../../src/lab/types.js';

const pod = (namespace: string, name: string, app = name): LabPod => ({
  namespace, name, app, serviceAccount: app, ip: '10.0.0.1', labels: { app }, containers: [app], ports: {}, logs: () => [],
});

describe('podLookup', () => {
  it('answers as pods().find(...) does: first match, misses, a new list, a longer list, a pod replaced in place', () => {
    let list = [pod('a', 'x', 'first'), pod('b', 'y'), pod('a', 'x', 'second')];
    const lookup = podLookup(() => list);
    const find = (ns: string, name: string) => list.find((p) => p.namespace === ns && p.name === name);
    expect(lookup('a', 'x')).toBe(list[0]);
    expect(lookup('a', 'x')?.app).toBe('first');
    expect(lookup('b', 'y')).toBe(find('b', 'y'));
    expect(lookup('b', 'x')).toBeUndefined();
    expect(lookup(undefined, 'x')).toBeUndefined();

    list = [pod('c', 'z')];
    expect(lookup('c', 'z')).toBe(list[0]);
    expect(lookup('a', 'x')).toBeUndefined();

    list.push(pod('d', 'w'));
    expect(lookup('d', 'w')).toBe(list[1]);

    list[0] = pod('e', 'v');
    expect(lookup('c', 'z')).toBeUndefined();
    expect(lookup('e', 'v')).toBe(list[0]);
  });
});
