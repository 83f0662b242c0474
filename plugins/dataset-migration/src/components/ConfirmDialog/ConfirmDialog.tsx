import Button from '@material-ui/core/Button';
import Dialog from '@material-ui/core/Dialog';
import DialogActions from '@material-ui/core/DialogActions';
import DialogContent from '@material-ui/core/DialogContent';
import DialogContentText from '@material-ui/core/DialogContentText';
import DialogTitle from '@material-ui/core/DialogTitle';
import TextField from '@material-ui/core/TextField';
import { useState } from 'react';

/** Asks the user to confirm a consequential action, with an optional reason. */
export const ConfirmDialog = (props: {
  open: boolean;
  title: string;
  description: string;
  confirmLabel: string;
  onConfirm: (reason?: string) => void;
  onClose: () => void;
}) => {
  const [reason, setReason] = useState('');
  return (
    <Dialog open={props.open} onClose={props.onClose} maxWidth="sm" fullWidth>
      <DialogTitle>{props.title}</DialogTitle>
      <DialogContent>
        <DialogContentText>{props.description}</DialogContentText>
        <TextField
          id="confirm-dialog-reason"
          label="Reason (optional, kept in the audit log)"
          value={reason}
          onChange={e => setReason(e.target.value)}
          fullWidth
          inputProps={{ maxLength: 1000 }}
        />
      </DialogContent>
      <DialogActions>
        <Button onClick={props.onClose}>Keep it</Button>
        <Button
          color="secondary"
          variant="contained"
          onClick={() => props.onConfirm(reason.trim() || undefined)}
        >
          {props.confirmLabel}
        </Button>
      </DialogActions>
    </Dialog>
  );
};
