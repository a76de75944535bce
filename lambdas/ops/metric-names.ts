/**
 * The service's own CloudWatch metrics contract (Powertools Metrics): one namespace, the default
 * dimension `service`. lib/constructs/monitoring.ts alarms and graphs these names.
 */
export const METRIC_NAMESPACE = 'MachineImageService';
export const METRIC_SERVICE = 'machine-image-service';
/** Seconds, dimension {service}: age of the oldest image in state `creating` (lambdas/ops/oldest-creating.ts). */
export const OLDEST_CREATING_METRIC = 'OldestCreatingImageAgeSeconds';
