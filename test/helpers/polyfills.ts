// aws-local-stepfunctions uses Promise.withResolvers (Node ≥ 22); Node 20 needs it supplied.
import '../../local/polyfills';
