// A pack load while a job runs: the job finishes on the pack it started with or not at all.
// The client stops the running job (Cancel, with the reason said), keeps what it made, and every
// result records the pack the worker says made it, not the pack the page shows by then.
import { beforeEach, describe, expect, it } from 'vitest';
import { resetStore, useStore } from '../store';
import { doneFor, generates, manifest, ready } from '../testing/fake-worker';

const s = useStore.getState;
const OTHER = { url: '/other/', id: 'other', name: 'other pack' };

beforeEach(() => resetStore());

describe('a pack load while a job runs', () => {
  it('stops a batch of variations: the one made stays with its pack, the rest are never sent', () => {
    const { client, sent, reply } = ready();
    s().setVariations(3);
    s().setSeedFixed(true);
    s().setSeed(5);
    client.generate();
    expect(generates(sent)[0]).toMatchObject({ packUrl: '/p/', request: { seed: 5 } });
    reply(doneFor(generates(sent)[0]!));
    const second = generates(sent)[1]!;
    expect(second.packUrl).toBe('/p/'); // every request of the job names the pack it started on

    client.load('/other/', 'wasm');
    // the running variation is cancelled before the load, so the worker runs nothing of the job on the new pack
    expect(sent.slice(-2)).toEqual([{ type: 'cancel', id: second.id }, { type: 'load', packUrl: '/other/', backend: 'wasm' }]);
    reply({ status: 'cancelled', id: second.id });
    expect(s().job).toBeNull();
    expect(generates(sent)).toHaveLength(2);
    expect(s().lastCancel).toMatchObject({ skipped: 1 });
    expect(s().lastCancel?.reason).toBe(
      'The batch of 3 variations stopped because another pack is loading: the 1 sound made by pack stays. Press Generate to make the rest with the new pack.',
    );
    expect(s().results.map((r) => [r.request.seed, r.packId, r.packName, r.packUrl])).toEqual([[5, 'p', 'pack', '/p/']]);

    reply({ status: 'ready', packUrl: '/other/', manifest: { ...manifest, id: 'other', name: 'other pack' }, backend: 'wasm', loadMs: 1 });
    client.generate();
    const third = generates(sent)[2]!;
    expect(third.packUrl).toBe('/other/');
    reply(doneFor(third, 100, OTHER));
    expect(s().results.map((r) => [r.request.seed, r.packId])).toEqual([[5, 'other'], [5, 'p']]);
  });

  it('a variation that finishes before the cancel reaches the worker is kept, from its pack, and ends the job', () => {
    const { client, sent, reply } = ready();
    s().setVariations(3);
    client.generate();
    const first = generates(sent)[0]!;
    client.load('/other/', 'wasm');
    // the page already shows the new pack loading; the result still names the pack that made it
    expect(s().manifest).toBeNull();
    reply(doneFor(first));
    expect(s().run).toBeNull();
    expect(s().job).toBeNull();
    expect(generates(sent)).toHaveLength(1);
    expect(s().results.map((r) => r.packId)).toEqual(['p']);
    expect(s().lastCancel?.skipped).toBe(2);
    expect(s().lastCancel?.reason).toMatch(/^The batch of 3 variations stopped because another pack is loading: the 1 sound made by pack stays\./);
  });

  it('stops a grid fill, saying why', () => {
    const { client, sent, reply } = ready();
    client.fillGrid();
    const first = generates(sent)[0]!;
    client.load('/other/', 'wasm');
    reply({ status: 'cancelled', id: first.id });
    expect(s().lastCancel?.reason).toMatch(/^The comparison grid stopped because another pack is loading/);
    expect(generates(sent)).toHaveLength(1);
  });

  it('a load with no job running cancels nothing', () => {
    const { client, sent } = ready();
    client.load('/other/', 'wasm');
    expect(sent.filter((m) => m.type === 'cancel')).toEqual([]);
  });
});
