// One tooltip for the page, placed beside the element it describes and kept on screen.

export class Tooltip {
  constructor(private readonly el: HTMLElement) {}

  show(anchor: DOMRect, content: Node): void {
    this.el.replaceChildren(content);
    this.el.hidden = false;
    const pad = 8;
    const w = this.el.offsetWidth;
    const h = this.el.offsetHeight;
    const vw = document.documentElement.clientWidth;
    const vh = document.documentElement.clientHeight;
    let left = anchor.right + pad;
    if (left + w > vw - pad) left = anchor.left - w - pad;
    if (left < pad) left = Math.max(pad, Math.min(vw - w - pad, anchor.left));
    let top = anchor.top;
    if (top + h > vh - pad) top = Math.max(pad, vh - h - pad);
    if (left < anchor.right && left + w > anchor.left && top < anchor.bottom && top + h > anchor.top) {
      // Overlapping the anchor (narrow view): go below it, or above.
      top = anchor.bottom + pad + h <= vh ? anchor.bottom + pad : Math.max(pad, anchor.top - h - pad);
    }
    this.el.style.left = `${Math.round(left)}px`;
    this.el.style.top = `${Math.round(top)}px`;
  }

  hide(): void {
    this.el.hidden = true;
  }

  get visible(): boolean {
    return !this.el.hidden;
  }
}
