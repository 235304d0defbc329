/**
 * The live web view of a topology run (docs/ui.md): a page served by squall
 * itself, fed one sample a second over server-sent events, with the same
 * sample's Prometheus /metrics on its port.
 */
export { DEFAULT_UI_PORT, isLoopback, parseUiPort, serveUi } from './server.ts';
export type { ServeUiOptions, UiControl, UiControlOp, UiControlRequest, UiServer } from './server.ts';
export { groupingLabel, layoutTopology, longestPathLayers } from './layout.ts';
export type { GraphEdge, GraphLayout, GraphNode } from './layout.ts';
export { UiView } from './view.ts';
export type { Sample, UiCheckpoints, UiComponent, UiEdge, UiHost, UiLayout, UiPoint, UiState } from './view.ts';
export { PAGE_CSS, PAGE_JS, pageHtml } from './assets.ts';
