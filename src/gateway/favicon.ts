// The icon browsers ask every site for at /favicon.ico: without it each first visit logs a 404. An SVG (a sluice
// gate over water) is served under that name; browsers go by the content type, not the file name.

export const FAVICON_PATH = "/favicon.ico";
export const FAVICON_CONTENT_TYPE = "image/svg+xml";
/** Browsers may keep the icon for a day; it changes only with a new release. */
export const FAVICON_MAX_AGE_SECONDS = 86_400;

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#12355b"/>
<rect x="7" y="5" width="4" height="16" fill="#e8eef5"/>
<rect x="21" y="5" width="4" height="16" fill="#e8eef5"/>
<rect x="11" y="9" width="10" height="8" fill="#9fc2e7"/>
<path d="M4 24c3-2 5-2 8 0s5 2 8 0 5-2 8 0v4H4z" fill="#4aa3df"/>
</svg>
`;
