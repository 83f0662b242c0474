import Button, { type ButtonProps } from '@material-ui/core/Button';
import Tooltip from '@material-ui/core/Tooltip';

/**
 * A button that is disabled, with a tooltip saying why, when the user lacks
 * a permission or the action does not apply right now.
 */
export const PermissionedButton = (
  props: ButtonProps & {
    /** Why the button is disabled; undefined when it is enabled. */
    disabledReason?: string;
  },
) => {
  const { disabledReason, disabled, ...buttonProps } = props;
  const button = (
    <Button {...buttonProps} disabled={disabled || !!disabledReason} />
  );
  if (!disabledReason) {
    return button;
  }
  // A disabled button fires no mouse events, so the tooltip needs a wrapper.
  return (
    <Tooltip title={disabledReason}>
      <span>{button}</span>
    </Tooltip>
  );
};
