import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { SmtpCredentialsHandler } from './smtp-credentials-handler';

/** Construct id of the metric filter, a child of the stack's handler (one per stack). */
const PROBLEMS_FILTER_ID = 'FailuresAndWarnings';
const PROBLEMS_METRIC_NAME = 'FailuresAndWarnings';

/**
 * The handler's Lambda `Errors`: invocations that failed. CloudFormation
 * requests never count (the handler answers them, FAILED if need be); failed
 * rotation steps and key-source syncs do, and so do invocations the handler
 * refused (an event CloudFormation or Secrets Manager did not send). Adds no
 * resource.
 *
 * @internal
 */
export function handlerErrorsMetric(handler: SmtpCredentialsHandler, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return handler.function.metricErrors({ statistic: cloudwatch.Stats.SUM, period: Duration.minutes(5), ...props });
}

/**
 * Log lines of the handler that report a failure or something left for a
 * person: a CloudFormation request answered FAILED, a rotation step or sync
 * that FAILED (`"status": "FAILED"`), a warning such as an access key that
 * could not be deleted or a refused request (`"level": "WARN"`), an answer
 * CloudFormation could not be sent (`"level": "ERROR"`).
 *
 * Counted by one CloudWatch Logs metric filter on the handler's log group,
 * created on the first call in a stack (one resource per stack, which counts
 * against CloudFormation's 500). The metric is in the namespace
 * `SesSmtpCredentials/<stack name>`, so stacks of one account do not mix.
 *
 * @internal
 */
export function handlerProblemsMetric(handler: SmtpCredentialsHandler, props: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  const namespace = `SesSmtpCredentials/${Stack.of(handler).stackName}`;
  if (!handler.node.tryFindChild(PROBLEMS_FILTER_ID)) {
    new logs.MetricFilter(handler, PROBLEMS_FILTER_ID, {
      logGroup: handler.function.logGroup,
      filterPattern: logs.FilterPattern.any(
        logs.FilterPattern.stringValue('$.status', '=', 'FAILED'),
        logs.FilterPattern.stringValue('$.level', '=', 'WARN'),
        logs.FilterPattern.stringValue('$.level', '=', 'ERROR'),
      ),
      metricNamespace: namespace,
      metricName: PROBLEMS_METRIC_NAME,
      metricValue: '1',
      // No line in a period reads as 0, so an alarm sees the metric recover.
      defaultValue: 0,
    });
  }
  return new cloudwatch.Metric({
    namespace,
    metricName: PROBLEMS_METRIC_NAME,
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...props,
  });
}
