// Icons as inline SVG: they render with any fonts (an emoji glyph shows as an empty box where no
// emoji font is installed) and take the text colour. Decorative: the button carries the name.
export function TrashIcon() {
  return (
    <svg className="icon-svg" data-icon="trash" width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" focusable="false" fill="none" stroke="currentColor" strokeWidth="1.5" strokeLinecap="round" strokeLinejoin="round">
      <path d="M2.5 4h11" />
      <path d="M6 4V2.5h4V4" />
      <path d="M3.75 4l.75 9.5h7l.75-9.5" />
      <path d="M6.5 6.5v4.5M9.5 6.5v4.5" />
    </svg>
  );
}
