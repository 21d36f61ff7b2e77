#!/usr/bin/env node
// mdtoc: print a table of contents for a Markdown file (or the bundled sample with --selftest).
import { readFileSync } from 'fs';
import { headings, render } from './toc';

const SAMPLE = [
  '# mdtoc',
  'Intro text.',
  '## Install',
  '```sh',
  '# not a heading',
  '```',
  '## Usage',
  '### Options',
  '## Usage',
].join('\n');

function main(argv: string[]): number {
  if (argv.includes('--version')) {
    console.log('mdtoc 0.5.0');
    return 0;
  }
  const depthArg = argv.find((a) => a.startsWith('--depth='));
  const depth = depthArg ? Number(depthArg.slice('--depth='.length)) : 3;
  let text: string;
  if (argv.includes('--selftest')) {
    text = SAMPLE;
  } else {
    const file = argv.find((a) => !a.startsWith('--'));
    if (!file) {
      console.error('usage: mdtoc [--depth=N] FILE.md | --selftest');
      return 2;
    }
    text = readFileSync(file, 'utf8');
  }
  console.log(render(headings(text, depth)));
  return 0;
}

process.exitCode = main(process.argv.slice(2));
