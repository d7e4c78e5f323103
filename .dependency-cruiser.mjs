// The architecture's "never"s as rules (README, Layout). Checked in the unit tier by test/unit/architecture.test.ts
// (which also plants a violation of every rule to show each one bites) and by `npm run lint:deps`.
// Every `comment` is what a violation prints: it says what the rule protects and where the import belongs instead.

/**
 * The Node builtins pure code may import: path, and crypto for hashing (createHash, createHmac). crypto also holds
 * randomness (randomBytes), which an import rule cannot tell apart: that part is left to review and the goldens.
 */
const PURE_BUILTINS = '^(node:)?(path|crypto)$';
/** Test helpers: make bundles, fixtures and fakes on disk; for tests only. */
const TEST_CODE = '(\\.test\\.ts|/testing\\.ts)$';

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'Import cycle. Modules that import each other cannot be understood, tested or moved on their own: ' +
        'move what both need into a lower module (as package groups moved from plan/ into bundle/).',
      from: {},
      to: { circular: true },
    },
    {
      name: 'generators-are-pure',
      severity: 'error',
      comment:
        'A generator is (view, facts) -> units of files: it may import only other generators, the spec, the secrets ' +
        'TYPE (src/secrets/types.ts), the OS table (src/os/) and the constants images.ts, versions.ts, phases.ts, ' +
        'host-paths.ts. Anything else carries I/O or a later stage ' +
        '(executors, runner, plan, bundle, api, cli, install, the secrets file): pass what you need in as facts.',
      from: { path: '^src/generators/', pathNot: TEST_CODE },
      to: {
        path: '^src/',
        pathNot: '^src/(generators/|spec/|os/|secrets/types\\.ts$|images\\.ts$|versions\\.ts$|phases\\.ts$|host-paths\\.ts$)',
      },
    },
    {
      name: 'plan-is-pure',
      severity: 'error',
      comment:
        'The plan is data made from spec + facts: src/plan/ may not import what runs it (executors, runner, ' +
        'install), presents it (api, cli) or reads the disk (bundle/io, secrets.ts, output.ts).',
      from: { path: '^src/plan/', pathNot: TEST_CODE },
      to: {
        path: '^src/(executors|runner|install|api|cli|rehearse|bundle/io)/|^src/(secrets/secrets|secrets/git|output)\\.ts$',
      },
    },
    {
      name: 'pure-code-uses-no-io-builtins',
      severity: 'error',
      comment:
        'Generators, the plan and the bundle\'s pure part (src/bundle/*.ts) touch no filesystem, process, network, ' +
        'OS or clock: of the Node builtins only path and crypto (hashing) are allowed. Read files in the caller ' +
        '(src/install/inputs.ts, src/bundle/io/) and pass their text in as data.',
      from: { path: '^src/(generators|plan)/|^src/bundle/[^/]+$', pathNot: TEST_CODE },
      to: { dependencyTypes: ['core'], pathNot: PURE_BUILTINS },
    },
    {
      name: 'executors-know-no-plan',
      severity: 'error',
      comment:
        'An executor only runs commands on a host. It never imports generators, the plan, the runner, the bundle, ' +
        'install, api or cli: those are built on executors, not the other way round.',
      from: { path: '^src/executors/', pathNot: TEST_CODE },
      to: { path: '^src/(generators|plan|runner|bundle|install|api|cli|rehearse)/' },
    },
    {
      name: 'api-reaches-executors-through-install',
      severity: 'error',
      comment:
        'The REST API hands installs to the install pipeline (src/install/ -> runner) and never constructs or ' +
        'drives an executor itself, so the CLI and the API cannot drift apart in how they run a plan.',
      from: { path: '^src/api/' },
      to: { path: '^src/executors/' },
    },
    {
      name: 'nothing-imports-the-cli',
      severity: 'error',
      comment:
        'src/cli/ is a presenter: it parses arguments and prints. Nothing else imports it; move what you need ' +
        'into the library. (src/rehearse/cli.ts is the rehearse command\'s own face, kept beside its feature.)',
      from: { path: '^src/', pathNot: '^src/cli/|^src/rehearse/cli\\.ts$' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'only-the-cli-imports-the-api',
      severity: 'error',
      comment:
        'src/api/ is a presenter: it parses requests and answers. Only the CLI imports it (`serve` hosts it, ' +
        '`apply --server` and `status` are its clients); library code that the API uses belongs below it.',
      from: { path: '^src/', pathNot: '^src/(api|cli)/' },
      to: { path: '^src/api/' },
    },
    {
      name: 'test-helpers-stay-in-tests',
      severity: 'error',
      comment:
        'testing.ts files are test helpers (fixtures, fake bundles on disk) and are left out of the published ' +
        'build: only *.test.ts files and other helpers may import them.',
      from: { path: '^src/', pathNot: TEST_CODE },
      to: { path: '/testing\\.ts$' },
    },
    {
      name: 'bundle-pure-part-stays-pure',
      severity: 'error',
      comment:
        'src/bundle/*.ts is what a spec needs, as data (the plan imports it): it never imports the bundle\'s I/O ' +
        'part (src/bundle/io/) nor anything that runs, presents or reads the disk.',
      from: { path: '^src/bundle/[^/]+$', pathNot: TEST_CODE },
      to: {
        path: '^src/(bundle/io|executors|runner|install|api|cli|rehearse)/|^src/(secrets/secrets|secrets/git|output)\\.ts$',
      },
    },
    {
      name: 'console-is-a-browser-client',
      severity: 'error',
      comment:
        'src/console/ runs in the operator\'s browser and talks to the service only over the documented REST API: ' +
        'it imports nothing but other console modules (no Node builtin, no server code), and nothing of the server ' +
        'imports it (src/api/console.ts serves its built files, it does not import them).',
      from: { path: '^src/console/', pathNot: TEST_CODE },
      to: { pathNot: '^src/console/' },
    },
    {
      name: 'nothing-imports-the-console',
      severity: 'error',
      comment: 'The console is a separate program (a browser page): server code never imports src/console/.',
      from: { path: '^src/', pathNot: '^src/console/' },
      to: { path: '^src/console/' },
    },
    {
      name: 'light-layers-load-no-heavy-dependency',
      severity: 'error',
      comment:
        'The spec, secrets, generators, plan, the bundle\'s pure part and the package root are what a user who only ' +
        'renders files imports (`airgap-k8s/spec`, `/generators`, `/plan`, ...): nothing they reach, directly or ' +
        'through other modules, may load ssh2, better-sqlite3, hono, dockerode or testcontainers (optional ' +
        'dependencies: native code, an HTTP stack, a docker client). Load those where they are used, lazily, through ' +
        'src/optional.ts.',
      from: { path: '^src/(spec|secrets|generators|plan)/|^src/bundle/[^/]+$|^src/index\\.ts$', pathNot: TEST_CODE },
      to: { path: '(^|/)node_modules/(ssh2|better-sqlite3|hono|@hono/[^/]+|dockerode|testcontainers)/', reachable: true },
    },
  ],
  options: {
    // The tests are cruised as the code's neighbours but are no part of the architecture.
    exclude: { path: '\\.test\\.ts$' },
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
