import { describe, expect, it } from 'vitest';
import { podCidrFor } from '../../src/lab/kube-control-plane.js';

/** kwok hands out a CIDR's addresses but the network's and the broadcast's: the block must hold the pods. */
const capacity = (cidr: string) => 2 ** (32 - Number(cidr.split('/')[1])) - 2;
const aligned = (cidr: string) => {
  const [net, bits] = cidr.split('/');
  const third = Number(net!.split('.')[2]);
  return third % 2 ** (24 - Number(bits)) === 0 && net!.endsWith('.0');
};

describe('the lab node\'s pod range (kwok --cidr)', () => {
  it('is a 10.244.N.0/24 up to 254 pods, as before', () => {
    for (const r of [0, 0.5, 0.999]) {
      expect(podCidrFor(254, () => r)).toMatch(/^10\.244\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|250)\.0\/24$/);
    }
    expect(podCidrFor(200, () => 0)).toBe('10.244.1.0/24');
  });

  it('grows to the smallest aligned block of 10.244.0.0/16 that holds the pods', () => {
    for (const [pods, bits] of [[255, 23], [510, 23], [511, 22], [1215, 21], [4094, 20], [65_534, 16]] as const) {
      for (const r of [0, 0.37, 0.999]) {
        const cidr = podCidrFor(pods, () => r);
        expect(cidr.startsWith('10.244.'), cidr).toBe(true);
        expect(Number(cidr.split('/')[1]), `${pods} pods`).toBe(bits);
        expect(capacity(cidr)).toBeGreaterThanOrEqual(pods);
        expect(aligned(cidr), cidr).toBe(true);
      }
    }
  });

  it('refuses more pods than a /16 holds, and a count that is not a whole number', () => {
    expect(() => podCidrFor(65_535)).toThrow(/at most a \/16/);
    expect(() => podCidrFor(-1)).toThrow();
    expect(() => podCidrFor(1.5)).toThrow();
  });
});
