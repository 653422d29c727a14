/**
 * `mgproxy ca`: create the CA if missing and print where it is; `--renew` replace it on purpose
 * (the old pair kept as `*.renewed-<date>`); `--print` the PEM; `--der FILE` DER
 * for Android's user store; `--android-system DIR` the `<subject_hash_old>.0` file of its system store.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { androidSystemFileName } from '../../certs/android.js';
import { loadOrCreateCa, renewCa } from '../../certs/ca.js';
import { UsageError, withCaDirOption } from './options.js';

interface CaArgs { 'ca-dir': string; renew?: boolean; print?: boolean; der?: string; 'android-system'?: string }

export const caCommand: CommandModule<object, CaArgs> = {
  command: 'ca',
  describe: 'create the CA if missing and print the path of its certificate',
  builder: (y) => withCaDirOption(y)
    .option('renew', { type: 'boolean', describe: 'replace the CA with a new one (the old pair is kept as *.renewed-<date>); devices must install the new one' })
    .option('print', { type: 'boolean', describe: 'print the certificate (PEM) instead of its path' })
    .option('der', { type: 'string', describe: 'also write the certificate in DER (.crt for Android) to FILE' })
    .option('android-system', {
      type: 'string', describe: "also write <subject_hash_old>.0 (PEM), the file Android's system store expects, into DIR",
      coerce: (v: unknown) => {
        if (typeof v !== 'string' || v === '') throw new UsageError('--android-system needs one folder (created if missing)');
        return v;
      },
    }) as never,
  handler: (argv) => {
    if (argv.renew) {
      const { ca, retired } = renewCa(argv['ca-dir']);
      process.stderr.write(`renewed the CA in ${argv['ca-dir']}${retired ? ` (the old one is kept as ${retired})` : ''}; install ${ca.certFile} on your test devices\n`);
    }
    const { ca, created } = loadOrCreateCa(argv['ca-dir']);
    if (ca.notice) process.stderr.write(`${ca.notice}\n`);
    else if (created) process.stderr.write(`created a new CA in ${argv['ca-dir']}; install ${ca.certFile} on your test devices\n`);
    if (argv.der !== undefined) {
      fs.writeFileSync(argv.der, ca.certDer);
      process.stderr.write(`wrote ${argv.der} (DER)\n`);
    }
    if (argv['android-system'] !== undefined) {
      const dir = argv['android-system'];
      fs.mkdirSync(dir, { recursive: true });
      const file = path.join(dir, androidSystemFileName(ca.certDer));
      // The system store holds PEM files; Android reads the first certificate of each.
      fs.writeFileSync(file, ca.certPem, { mode: 0o644 });
      process.stderr.write(`wrote ${file} (for /system/etc/security/cacerts; see the onboarding page for the adb steps)\n`);
    }
    process.stdout.write(argv.print ? ca.certPem : `${ca.certFile}\n`);
  },
};
