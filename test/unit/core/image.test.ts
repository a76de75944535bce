import { assertTransition, canSee, canTransition, statesLeadingTo } from '../../../lambdas/core/image';
import { StateConflictError } from '../../../lambdas/core/errors';

describe('image state machine', () => {
  it.each([
    ['creating', 'active', true],
    ['creating', 'failed', true],
    ['active', 'disabled', true],
    ['disabled', 'active', true],
    ['unactivated', 'active', true],
    ['failed', 'active', false],
    ['active', 'creating', false],
    ['deleted', 'active', false],
  ] as const)('%s → %s allowed: %s', (from, to, ok) => {
    expect(canTransition(from, to)).toBe(ok);
  });

  it('reaches deleted from every live state, as a tombstone', () => {
    expect(statesLeadingTo('deleted').sort()).toEqual(['active', 'creating', 'disabled', 'failed', 'unactivated']);
  });

  it('throws a StateConflictError naming the current state', () => {
    expect(() => assertTransition({ id: 'i', state: 'failed' }, 'active')).toThrow(StateConflictError);
  });

  it('lets the owner, acl members and everyone for public images see it; nobody sees a deleted one', () => {
    const img = { owner: 'a', public: false, acl: ['b'], state: 'active' as const };
    expect(canSee(img, 'a')).toBe(true);
    expect(canSee(img, 'b')).toBe(true);
    expect(canSee(img, 'c')).toBe(false);
    expect(canSee({ ...img, public: true }, 'c')).toBe(true);
    expect(canSee({ ...img, state: 'deleted' }, 'a')).toBe(false);
  });
});
