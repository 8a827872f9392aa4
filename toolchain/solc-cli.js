#!/usr/bin/env node
// A native-solc compatible front end for solcjs (the npm `solc` package, WebAssembly).
//
// Why: no native solc can be downloaded here, but forge and py-solc-x both drive a
// compiler binary through its CLI. They only need two things: `--version` in the
// native format and `--standard-json` (input on stdin, output on stdout). solcjs's
// own CLI gets both wrong (an SMT warning line before the JSON, a truncated pipe on
// large outputs), so this file speaks the protocol directly.
'use strict';
const fs = require('fs');
const path = require('path');
const solc = require('solc');

function writeAllSync(fd, text) {
  // Write synchronously and completely: async stdout writes truncate at ~59 KB
  // when the process exits while a pipe is still full.
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      if (err.code !== 'EAGAIN') throw err;
    }
  }
}

function parseArgs(argv) {
  const opts = { basePath: null, includePaths: [], allowPaths: [], standardJson: false, version: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takeValue = () => {
      if (a.includes('=')) return a.slice(a.indexOf('=') + 1);
      i += 1;
      return argv[i];
    };
    if (a === '--version') opts.version = true;
    else if (a === '--standard-json') opts.standardJson = true;
    else if (a.startsWith('--base-path')) opts.basePath = takeValue();
    else if (a.startsWith('--include-path')) opts.includePaths.push(takeValue());
    else if (a.startsWith('--allow-paths')) opts.allowPaths.push(...takeValue().split(','));
    else if (a === '-' || a === '--no-color' || a === '--pretty-json') { /* accepted, no effect */ }
    else {
      writeAllSync(2, `solc (solcjs front end): unsupported option ${a}\n`);
      process.exit(2);
    }
  }
  return opts;
}

function makeImportCallback(opts) {
  const roots = [opts.basePath || process.cwd(), ...opts.includePaths, process.cwd()];
  return function findImport(importPath) {
    const candidates = path.isAbsolute(importPath) ? [importPath] : roots.map((r) => path.resolve(r, importPath));
    for (const file of candidates) {
      try {
        return { contents: fs.readFileSync(file, 'utf8') };
      } catch (_) { /* try next root */ }
    }
    return { error: `File not found: ${importPath}` };
  };
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.version) {
    writeAllSync(1, `solc, the solidity compiler commandline interface\nVersion: ${solc.version()}\n`);
    return;
  }
  if (!opts.standardJson) {
    writeAllSync(2, 'solc (solcjs front end): only --version and --standard-json are supported\n');
    process.exit(2);
  }
  const input = fs.readFileSync(0, 'utf8');
  const output = solc.compile(input, { import: makeImportCallback(opts) });
  writeAllSync(1, output + '\n');
}

main();
