/** `mgproxy ca`: create the CA if missing and print where it is; `--print` the PEM; `--der FILE` DER for Android. */
import fs from 'node:fs';
import type { CommandModule } from 'yargs';
import { loadOrCreateCa } from '../../certs/ca.js';
import { withCaDirOption } from './options.js';

interface CaArgs { 'ca-dir': string; print?: boolean; der?: string }

export const caCommand: CommandModule<object, CaArgs> = {
  command: 'ca',
  describe: 'create the CA if missing and print the path of its certificate',
  builder: (y) => withCaDirOption(y)
    .option('print', { type: 'boolean', describe: 'print the certificate (PEM) instead of its path' })
    .option('der', { type: 'string', describe: 'also write the certificate in DER (.crt for Android) to FILE' }) as never,
  handler: (argv) => {
    const { ca, created } = loadOrCreateCa(argv['ca-dir']);
    if (created) process.stderr.write(`created a new CA in ${argv['ca-dir']}; install ${ca.certFile} on your test devices\n`);
    if (argv.der !== undefined) {
      fs.writeFileSync(argv.der, ca.certDer);
      process.stderr.write(`wrote ${argv.der} (DER)\n`);
    }
    process.stdout.write(argv.print ? ca.certPem : `${ca.certFile}\n`);
  },
};
