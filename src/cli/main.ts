// The CLI: `rollgate serve | validate | replay | status`, with zod-checked arguments.
import { parseArgs } from 'node:util';
import { validateCommand } from './validate.ts';

const usage = `usage:
  rollgate serve                                   run the server (configured by environment; see README)
  rollgate validate [dir] [--format text|json]     check plan files (default dir: ./flags)
  rollgate replay --plan <file.yaml> --signals <file.ndjson> [--start <ISO time>] [--check-split]
                                                   replay recorded signals through assess and reconcile
  rollgate status [--url http://127.0.0.1:4242] [--token T]
                                                   show flags, phases and percents of a running server`;

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'serve': {
      await import('../main.ts').then((m) => m.main());
      return -1;
    }
    case 'validate': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { format: { type: 'string', default: 'text' } },
      });
      const format = values.format === 'json' ? 'json' : values.format === 'text' ? 'text' : undefined;
      if (!format) return fail(`--format must be text or json, not "${values.format}"`);
      const out = validateCommand(positionals[0] ?? 'flags', format);
      process.stdout.write(out.stdout);
      return out.exitCode;
    }
    case 'status': {
      const { values } = parseArgs({
        args: rest,
        options: { url: { type: 'string', default: 'http://127.0.0.1:4242' }, token: { type: 'string' } },
      });
      const { statusCommand } = await import('./status.ts');
      return statusCommand(values.url, values.token ?? process.env.ROLLGATE_TOKEN);
    }
    case 'replay': {
      const { values } = parseArgs({
        args: rest,
        options: {
          plan: { type: 'string' },
          signals: { type: 'string' },
          start: { type: 'string' },
          'check-split': { type: 'boolean', default: false },
        },
      });
      if (!values.plan || !values.signals)
        return fail('replay needs --plan <file.yaml> and --signals <file.ndjson>');
      const startAt = values.start === undefined ? undefined : Date.parse(values.start);
      if (startAt !== undefined && Number.isNaN(startAt))
        return fail(`--start "${values.start}" is not an ISO time`);
      const { replayCommand } = await import('./replay.ts');
      return replayCommand({
        planFile: values.plan,
        signalsFile: values.signals,
        ...(startAt === undefined ? {} : { startAt }),
        checkSplit: values['check-split'],
      });
    }
    default:
      return fail(
        command && command !== 'help' && command !== '--help' ? `unknown command "${command}"` : '',
      );
  }
}

function fail(message: string): number {
  if (message) process.stderr.write(`rollgate: ${message}\n`);
  process.stderr.write(`${usage}\n`);
  return 2;
}

const code = await runCli(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`rollgate: ${err.message}\n`);
  return 2;
});
if (code >= 0) process.exitCode = code;
