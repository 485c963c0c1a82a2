import type { NodeMessage } from 'node-red';
import { SharedMsgHooks, sharedMsgHooks } from './msg-hooks';
import type { FollowedMsgHandlers } from './msg-hooks';

class FakeHooks {
  readonly added = new Map<string, (event: never) => void>();
  add(name: string, fn: (event: never) => void): void {
    this.added.set(name, fn);
  }
  remove(name: string): void {
    this.added.delete(name);
  }
  fire(name: string, event: unknown): void {
    this.added.get(name)?.(event as never);
  }
}

function recorder(): FollowedMsgHandlers & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    preDeliver: (e) => void seen.push(`preDeliver ${e.msg._msgid} ${e.destination.id}`),
    onReceive: (e) => void seen.push(`onReceive ${e.msg._msgid}`),
    onComplete: (e) => void seen.push(`onComplete ${e.msg._msgid}`),
    postReceive: (e) => void seen.push(`postReceive ${e.msg._msgid}`),
  };
}

const msg = (id: string): NodeMessage => ({ _msgid: id });

describe('shared messaging hooks', () => {
  test('however many nodes attach, one set of hooks is installed; the last release removes it', () => {
    const fake = new FakeHooks();
    const shared = new SharedMsgHooks(fake);
    const a = shared.attach();
    const b = shared.attach();
    expect([...fake.added.keys()].sort()).toEqual(['onComplete.ivfhub_followed', 'onReceive.ivfhub_followed', 'postReceive.ivfhub_followed', 'preDeliver.ivfhub_followed']);
    a();
    a();
    expect(fake.added.size).toBe(4);
    b();
    expect(fake.added.size).toBe(0);
  });

  test('each event reaches only the node that follows the msg, until it unfollows; other msgs reach nobody', () => {
    const fake = new FakeHooks();
    const shared = new SharedMsgHooks(fake);
    shared.attach();
    const first = recorder();
    const second = recorder();
    shared.follow('m1', first);
    shared.follow('m2', second);
    fake.fire('preDeliver.ivfhub_followed', { msg: msg('m1'), destination: { id: 'n1' } });
    fake.fire('onComplete.ivfhub_followed', { msg: msg('m2'), node: { id: 'n2' } });
    fake.fire('onReceive.ivfhub_followed', { msg: msg('other'), destination: { id: 'n3' } });
    fake.fire('postReceive.ivfhub_followed', { msg: {}, destination: { id: 'n3' } });
    shared.unfollow('m1');
    fake.fire('onReceive.ivfhub_followed', { msg: msg('m1'), destination: { id: 'n1' } });
    expect(first.seen).toEqual(['preDeliver m1 n1']);
    expect(second.seen).toEqual(['onComplete m2']);
  });

  test('one instance per runtime hooks object', () => {
    const hooks = new FakeHooks();
    expect(sharedMsgHooks({ hooks })).toBe(sharedMsgHooks({ hooks }));
    expect(sharedMsgHooks({ hooks })).not.toBe(sharedMsgHooks({ hooks: new FakeHooks() }));
  });
});
