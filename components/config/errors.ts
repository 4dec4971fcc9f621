// The two ways input is refused. ConfigError: the stack's configuration (or a
// stack file) is wrong, every problem listed, exit 1. UsageError: the command
// line is wrong, exit 2 with usage text (or, when the message alone says what is
// wrong, such as an unknown stack, that one line). Neither carries a stack trace to the user.

export class ConfigError extends Error {
  /**
   * @param problems one line each, naming its key (`platform:masters.count: ...`) or file (`Pulumi.dev.yaml:3:5: ...`)
   * @param source where the problems are, when not the stack being run (e.g. the host's stack file)
   */
  constructor(
    readonly problems: string[],
    readonly source?: string,
  ) {
    super(`invalid stack configuration${source ? ` in ${source}` : ""}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export class UsageError extends Error {
  /** Whether the usage text follows the message (false when the one line says it all). */
  readonly showUsage: boolean;

  constructor(message: string, options?: ErrorOptions & { usage?: boolean }) {
    super(message, options);
    this.name = "UsageError";
    this.showUsage = options?.usage ?? true;
  }
}
