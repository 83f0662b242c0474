import { installGcsClientJestShims } from './testing/jestShims';

installGcsClientJestShims();
