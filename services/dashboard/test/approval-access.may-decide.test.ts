import type { Role, Wait } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { mayDecide, stillWaiting } from '../src/lib/approval-access.js';

function approval(roles?: Role[]): Wait {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    status: 'WAITING',
    spec: { kind: 'approval', title: 'Deploy', ...(roles ? { roles } : {}) },
  } as Wait;
}

describe('who may decide an approval in the inbox', () => {
  it('lets owner, admin and developer decide an approval that names no roles, and nobody else', () => {
    const wait = approval();
    expect(mayDecide('owner', wait)).toBe(true);
    expect(mayDecide('admin', wait)).toBe(true);
    expect(mayDecide('developer', wait)).toBe(true);
    expect(mayDecide('runner', wait)).toBe(false);
    expect(mayDecide('viewer', wait)).toBe(false);
    expect(mayDecide('worker', wait)).toBe(false);
    expect(mayDecide(null, wait)).toBe(false);
  });

  it('keeps an approval naming its roles to those roles, and never to a role the decide route refuses', () => {
    const ownersOnly = approval(['owner']);
    expect(mayDecide('owner', ownersOnly)).toBe(true);
    expect(mayDecide('developer', ownersOnly)).toBe(false);
    expect(mayDecide('viewer', approval(['viewer', 'admin']))).toBe(false);
    expect(mayDecide('admin', approval(['viewer', 'admin']))).toBe(true);
  });

  it('offers no decision on an approval that is no longer waiting or on another kind of wait', () => {
    expect(mayDecide('owner', { ...approval(), status: 'RESOLVED' })).toBe(false);
    expect(mayDecide('owner', { ...approval(), spec: { kind: 'token', token: 'wt_x' } } as Wait)).toBe(false);
  });
});

describe('which approvals the inbox lists as waiting', () => {
  const first = { ...approval(), id: '00000000-0000-4000-8000-000000000001' } as Wait;
  const second = { ...approval(), id: '00000000-0000-4000-8000-000000000002' } as Wait;

  it('drops a wait the recent decisions already show, though the waiting list loaded before it was decided', () => {
    const resolved = { ...first, status: 'RESOLVED' } as Wait;
    expect(stillWaiting([first, second], [resolved]).map((wait) => wait.id)).toEqual([second.id]);
  });

  it('keeps every wait when nothing listed has been decided', () => {
    expect(stillWaiting([first, second], [])).toEqual([first, second]);
  });
});
