/** The version reported by `--version` and in user agents; a unit test keeps it in step with package.json. */
export const VERSION = '0.1.0';
