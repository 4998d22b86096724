/** A time in a world file: an ISO 8601 string (apply converts it to epoch milliseconds). */
export type IsoTime = string;
