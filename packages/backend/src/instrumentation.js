/*
 * OpenTelemetry for the backend, the way Backstage's "Setup OpenTelemetry"
 * tutorial does it: loaded with `node --require` before anything else, it
 * registers the SDK whose global meter provider every plugin's
 * `@opentelemetry/api` instruments report to (the dataset-migration engine's,
 * the catalog's, the scheduler's), and serves them for Prometheus.
 *
 * It does nothing unless OTEL_EXPORTER_PROMETHEUS_PORT is set (the variable
 * the OpenTelemetry spec names for this exporter), so a default start and the
 * tests run without an SDK and without a second listening port:
 *
 *   OTEL_EXPORTER_PROMETHEUS_PORT=9464 yarn start
 *   curl localhost:9464/metrics
 *
 * OTEL_EXPORTER_PROMETHEUS_HOST picks the interface (default all).
 */
const { isMainThread } = require('node:worker_threads');

const port = process.env.OTEL_EXPORTER_PROMETHEUS_PORT;

// Worker threads load --require too; only the main thread exports.
if (port && isMainThread) {
  // This file is about metrics: traces and logs stay off unless asked for
  // through the SDK's own variables (NodeSDK would default both to OTLP and
  // keep failing to reach a collector that is not there).
  process.env.OTEL_TRACES_EXPORTER ??= 'none';
  process.env.OTEL_LOGS_EXPORTER ??= 'none';

  const { NodeSDK } = require('@opentelemetry/sdk-node');
  const { PrometheusExporter } = require('@opentelemetry/exporter-prometheus');

  const parsed = Number(port);
  if (!Number.isInteger(parsed) || parsed <= 0 || parsed > 65535) {
    throw new Error(
      `OTEL_EXPORTER_PROMETHEUS_PORT must be a port number, got '${port}'`,
    );
  }
  const sdk = new NodeSDK({
    serviceName: process.env.OTEL_SERVICE_NAME ?? 'dataset-migrations-backend',
    metricReaders: [
      new PrometheusExporter({
        port: parsed,
        host: process.env.OTEL_EXPORTER_PROMETHEUS_HOST,
      }),
    ],
  });
  // No shutdown hook: the backend exits the process itself once it stopped
  // (SIGTERM/SIGINT), which also closes the exporter's server.
  sdk.start();
}
