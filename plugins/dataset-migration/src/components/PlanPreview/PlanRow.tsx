import Box from '@material-ui/core/Box';
import Typography from '@material-ui/core/Typography';
import type { ReactNode } from 'react';

/** One labelled line of the plan preview. */
export const PlanRow = (props: { label: string; children: ReactNode }) => (
  <Box display="flex" mb={0.5}>
    <Box width={160} flexShrink={0}>
      <Typography variant="body2" color="textSecondary">
        {props.label}
      </Typography>
    </Box>
    <Typography variant="body2" component="div">
      {props.children}
    </Typography>
  </Box>
);
