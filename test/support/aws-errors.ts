/** Errors shaped like AWS SDK v3 service errors: AWS answered, with an HTTP status. */
export function awsError(name: string, message: string, httpStatusCode = 400): Error {
  return Object.assign(new Error(message), { name, $fault: httpStatusCode >= 500 ? 'server' : 'client', $metadata: { httpStatusCode } });
}

/** A connection-level failure: no answer from AWS, so the outcome of the call is unknown. */
export function networkError(code = 'ECONNRESET', message = 'socket hang up'): Error {
  return Object.assign(new Error(message), { name: 'Error', code });
}
