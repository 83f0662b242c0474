import { Route, Routes } from 'react-router-dom';
import { migrationRouteRef } from '../../routes';
import { MigrationDetailPage } from '../MigrationDetailPage';
import { MigrationsPage } from '../MigrationsPage';

/** The routes under the plugin's page: the list and one migration. */
export const Router = () => (
  <Routes>
    <Route path="/" element={<MigrationsPage />} />
    <Route path={migrationRouteRef.path} element={<MigrationDetailPage />} />
  </Routes>
);
