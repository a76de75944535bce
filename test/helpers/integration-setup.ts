// Closes the SDK clients this test file made, so no keep-alive socket outlives the run.
import { disposeClients } from '../../lambdas/wiring';
import { closeLocalStackClients } from './local-stack';

afterAll(() => {
  disposeClients();
  closeLocalStackClients();
});
