// Must NOT type-check (test/types.test.mjs): hash returns a Promise, not a string.
import { PasswordHasher } from '..';
const phc: string = new PasswordHasher().hash('pw');
void phc;
