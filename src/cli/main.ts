// The CLI: `rollgate <command>`, each with its own --help; arguments are checked before anything runs.
import { parseArgs } from 'node:util';
import { trafficSchema } from '../audit/traffic.ts';
import { parseDuration } from '../plans/duration.ts';
import { CliError, resolveToken, resolveUrl, type Target } from './api-client.ts';
import { type FlagAction, flagActions } from './flag-actions.ts';
import { validateCommand } from './validate.ts';

const connection = `connection (every command that talks to a server):
  --url URL      default: ROLLGATE_URL, else http://$HOST:$PORT (127.0.0.1:4242)
  --token T      default: ROLLGATE_TOKEN, else the admin token in data/tokens.json ($ROLLGATE_DATA_DIR)`;

const actionHelp = (a: FlagAction) =>
  `usage: rollgate ${a} FLAG [--reason TEXT]${a === 'promote' ? ' [--to full|next]' : ''}
  ${
    {
      start: 'start the rollout at its first stage (from ready, or again after a rollback)',
      pause: 'hold a progressing rollout where it is',
      resume: 'continue a paused rollout; its tests watch afresh from now',
      promote: 'move to the next stage now, or with --to full straight to 100 %',
      rollback: 'serve the flag to nobody and end the rollout',
      disable: 'kill switch: serve the flag off to everyone, whatever its phase',
      enable: 'undo disable',
    }[a]
  }
${connection}`;

export const help: Record<string, string> = {
  serve: 'usage: rollgate serve\n  run the server (configured by environment; see README)',
  validate:
    'usage: rollgate validate [dir] [--format text|json]\n  check plan files (default dir: ./flags); exit 1 on any problem',
  replay:
    'usage: rollgate replay --plan <file.yaml> --signals <file.ndjson> [--start <ISO time>] [--check-split]\n  replay recorded signals through assess and reconcile, one JSON line per decision',
  status: `usage: rollgate status [--watch] [--interval 2s] [--json]\n  flags, phases, percents, verdicts and hold reasons of a running server\n${connection}`,
  audit: `usage: rollgate audit [--format text|json] [--traffic N/min]\n  the hard gates (power, blind spots, trust inflation) of a running server; exit 1 when any check fails\n  --traffic  requests per minute assumed for plans with no stored traffic (not running yet)\n${connection}`,
  drill: `usage: rollgate drill [--reason TEXT] [--timeout 30s] [--json]
  rollback drill: toggle the reserved flag rollgate.drill, wait until every SDK instance seen in the last
  hour holds it (or the timeout: by default a bit more than the longest refresh interval seen), restore it,
  and check each completed flag's holdback; exit 1 when an instance never took the change (or none was seen)
${connection}`,
  events: `usage: rollgate events [FLAG] [--type rollout.rolled-back] [--limit 20] [--json]\n  the decision and audit log, newest first\n${connection}`,
  ...Object.fromEntries(flagActions.map((a) => [a, actionHelp(a)])),
};

const usage = `usage: rollgate <command> [options]     (rollgate <command> --help for its options)
  serve                                       run the server
  validate [dir]                              check plan files
  replay --plan F --signals F                 replay recorded signals through the controller
  status [--watch] [--json]                   what every flag is doing now
  events [FLAG]                               the decision log
  audit [--format json] [--traffic N/min]     hard gates: power, blind spots, trust; exit 1 on a failure
  drill [--timeout 30s]                       rollback drill: does every SDK take a change?
  start|pause|resume|promote|rollback FLAG    drive a rollout  [--reason TEXT] [--to full]
  disable|enable FLAG                         the kill switch  [--reason TEXT]`;

const out = (line: string) => process.stdout.write(`${line}\n`);
const connectionOptions = { url: { type: 'string' }, token: { type: 'string' } } as const;

const target = (values: { url?: string | undefined; token?: string | undefined }): Target => ({
  url: resolveUrl(values.url, process.env),
  token: resolveToken(values.token, process.env),
});

export async function runCli(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    out(usage);
    return 0;
  }
  const text = help[command];
  if (!text) throw new CliError(`unknown command "${command}"\n${usage}`, 2);
  if (rest.includes('--help') || rest.includes('-h')) {
    out(text);
    return 0;
  }
  if ((flagActions as readonly string[]).includes(command)) {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: { ...connectionOptions, reason: { type: 'string' }, to: { type: 'string' } },
    });
    const [flag, ...extra] = positionals;
    if (!flag || extra.length) throw new CliError(`${command} takes one flag name\n${text}`, 2);
    const { flagActionCommand } = await import('./flag-actions.ts');
    return flagActionCommand(target(values), command as FlagAction, flag, values, out);
  }
  switch (command) {
    case 'serve':
      await import('../main.ts').then((m) => m.main());
      return -1;
    case 'validate': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: { format: { type: 'string', default: 'text' } },
      });
      const format = values.format === 'json' ? 'json' : values.format === 'text' ? 'text' : undefined;
      if (!format) throw new CliError(`--format must be text or json, not "${values.format}"`, 2);
      const result = validateCommand(positionals[0] ?? 'flags', format);
      process.stdout.write(result.stdout);
      return result.exitCode;
    }
    case 'status': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...connectionOptions,
          watch: { type: 'boolean', default: false },
          json: { type: 'boolean', default: false },
          interval: { type: 'string', default: '2s' },
        },
      });
      const intervalMs = parseDuration(values.interval);
      if (intervalMs === undefined || intervalMs < 100)
        throw new CliError(`--interval "${values.interval}" is not a duration of at least 100ms`, 2);
      const { statusCommand } = await import('./status.ts');
      return statusCommand(target(values), { json: values.json, watch: values.watch, intervalMs }, out);
    }
    case 'events': {
      const { values, positionals } = parseArgs({
        args: rest,
        allowPositionals: true,
        options: {
          ...connectionOptions,
          type: { type: 'string' },
          limit: { type: 'string', default: '20' },
          json: { type: 'boolean', default: false },
        },
      });
      const limit = Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 500)
        throw new CliError(`--limit must be a whole number from 1 to 500, not "${values.limit}"`, 2);
      const { eventsCommand } = await import('./events.ts');
      return eventsCommand(
        target(values),
        { flag: positionals[0], type: values.type, limit, json: values.json },
        out,
      );
    }
    case 'audit': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...connectionOptions,
          format: { type: 'string', default: 'text' },
          traffic: { type: 'string' },
        },
      });
      if (values.format !== 'text' && values.format !== 'json')
        throw new CliError(`--format must be text or json, not "${values.format}"`, 2);
      let traffic: number | undefined;
      if (values.traffic !== undefined) {
        const parsed = trafficSchema.safeParse(values.traffic.replace(/\/min$/, ''));
        if (!parsed.success)
          throw new CliError(
            `--traffic "${values.traffic}": ${parsed.error.issues[0]?.message ?? 'not a number'} (e.g. 1200/min)`,
            2,
          );
        traffic = parsed.data;
      }
      const { auditCommand } = await import('./audit.ts');
      return auditCommand(target(values), { json: values.format === 'json', traffic }, out);
    }
    case 'drill': {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...connectionOptions,
          reason: { type: 'string' },
          timeout: { type: 'string' },
          json: { type: 'boolean', default: false },
        },
      });
      if (values.timeout !== undefined && parseDuration(values.timeout) === undefined)
        throw new CliError(`--timeout "${values.timeout}" is not a duration such as 30s or 2m`, 2);
      const { drillCommand } = await import('./drill.ts');
      return drillCommand(target(values), values, out);
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
        throw new CliError('replay needs --plan <file.yaml> and --signals <file.ndjson>', 2);
      const startAt = values.start === undefined ? undefined : Date.parse(values.start);
      if (startAt !== undefined && Number.isNaN(startAt))
        throw new CliError(`--start "${values.start}" is not an ISO time`, 2);
      const { replayCommand } = await import('./replay.ts');
      return replayCommand({
        planFile: values.plan,
        signalsFile: values.signals,
        ...(startAt === undefined ? {} : { startAt }),
        checkSplit: values['check-split'],
      });
    }
    default:
      throw new CliError(`unknown command "${command}"\n${usage}`, 2);
  }
}

const code = await runCli(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`rollgate: ${err.message}\n`);
  // Bad arguments (parseArgs' own errors included) exit 2; a refused or failed request exits 1.
  return err instanceof CliError ? err.exitCode : 2;
});
if (code >= 0) process.exitCode = code;
