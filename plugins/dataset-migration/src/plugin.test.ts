import { datasetMigrationPlugin } from './plugin';

describe('dataset-migration', () => {
  it('should export plugin', () => {
    expect(datasetMigrationPlugin).toBeDefined();
  });
});
