#!/usr/bin/env node
'use strict';
// The AWS SDK v3 writes a notice to stderr on Node.js 20 that its releases after the first week
// of January 2027 need Node.js 22 (NodeVersionSupportWarning). From a timer or cron, anything on
// stderr reads as a failure, so the CLI turns off exactly that notice, with the switch the SDK
// documents for it (aws/aws-sdk-js-v3#7983). The README says which Node.js versions to use;
// AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=false brings the notice back.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const { main } = require('../lib/cli');

main(process.argv.slice(2), process).then((code) => { process.exitCode = code; });
