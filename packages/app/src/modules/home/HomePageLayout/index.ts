export { HomePageLayout } from './HomePageLayout';
