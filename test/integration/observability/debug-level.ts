// Imported first by logs.test.ts: the handlers' Logger reads its level once, when it is made, and
// Powertools goes back to that level at each invocation.
process.env.POWERTOOLS_LOG_LEVEL = 'DEBUG';
export {};
