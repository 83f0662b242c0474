export { FleetSummary } from './FleetSummary';
