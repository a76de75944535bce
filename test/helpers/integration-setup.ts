// Closes the SDK clients this test file made, so no keep-alive socket outlives the run.
import { disposeClients } from '../../lambdas/wiring';
import { closeLocalStackClients } from './local-stack';

// Real builds over real HTTP on a shared, busy machine: a generous per-test budget (no test asserts speed).
jest.setTimeout(30_000);

afterAll(() => {
  disposeClients();
  closeLocalStackClients();
});
