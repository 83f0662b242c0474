export { FleetState } from './FleetState';
