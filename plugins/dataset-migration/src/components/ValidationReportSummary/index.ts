export { ValidationReportSummary } from './ValidationReportSummary';
