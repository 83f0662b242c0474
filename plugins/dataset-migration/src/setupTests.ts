import '@testing-library/jest-dom';
import { configure } from '@testing-library/react';

// The first render of a test app (lazy extensions, theme, APIs) can take over
// a second on a busy machine; the default 1s wait makes that flaky.
configure({ asyncUtilTimeout: 5000 });
