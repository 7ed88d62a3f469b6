// The @vscode/webview-ui-toolkit components the page uses (tabs, dropdown, checkbox,
// buttons, progress ring), registered in one place: swapping the deprecated toolkit for
// its successor touches this file and the tags in src/heatmap/html.ts only.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDropdown,
  vsCodeOption,
  vsCodePanels,
  vsCodePanelTab,
  vsCodePanelView,
  vsCodeProgressRing,
} from "@vscode/webview-ui-toolkit";

export function registerToolkit(): void {
  provideVSCodeDesignSystem().register(
    vsCodeButton(),
    vsCodeCheckbox(),
    vsCodeDropdown(),
    vsCodeOption(),
    vsCodePanels(),
    vsCodePanelTab(),
    vsCodePanelView(),
    vsCodeProgressRing(),
  );
}

/** The toolkit's form elements, as far as this page uses them. */
export type ValueElement = HTMLElement & { value: string };
export type CheckedElement = HTMLElement & { checked: boolean };
export type PanelsElement = HTMLElement & { activeid: string };
