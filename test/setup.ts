// The Pulumi SDK captures a stack trace for every Output it creates; with the
// default limit that dominates the run time of a program with thousands of
// Outputs. A short trace still names the failing frame in a test failure.
Error.stackTraceLimit = 3;
