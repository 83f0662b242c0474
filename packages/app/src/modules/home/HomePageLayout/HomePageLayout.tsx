import { configApiRef, useApi } from '@backstage/frontend-plugin-api';
import type { HomePageLayoutProps } from '@backstage/plugin-home-react/alpha';
import { Container, Header } from '@backstage/ui';
import Grid, { type GridSize } from '@material-ui/core/Grid';

const COLUMNS = 12;

function columnsOf(widget: HomePageLayoutProps['widgets'][number]): GridSize {
  const wanted = widget.layout?.width?.defaultColumns ?? COLUMNS;
  return Math.min(COLUMNS, Math.max(1, Math.round(wanted))) as GridSize;
}

/**
 * The home page: the installed widgets in a fixed grid, in extension order
 * (app-config.yaml's `app.extensions` lists them in the order wanted), each
 * as wide as its `layout.width.defaultColumns` of 12, or the whole row. Unlike
 * the home plugin's default grid it has no edit mode, so no layout saved in
 * the browser can bring back a widget the app has removed.
 */
export const HomePageLayout = ({ widgets }: HomePageLayoutProps) => {
  const title =
    useApi(configApiRef).getOptionalString('app.title') ?? 'Backstage';
  return (
    <>
      <Header
        title={title}
        description="Your datasets, the migrations running now and the state of the worker fleet."
      />
      <Container>
        <Grid container spacing={3} alignItems="stretch">
          {widgets.map((widget, index) => (
            <Grid
              item
              xs={12}
              md={columnsOf(widget)}
              key={widget.name ?? index}
            >
              {widget.component}
            </Grid>
          ))}
        </Grid>
      </Container>
    </>
  );
};
