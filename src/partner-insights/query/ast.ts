/** The parsed report query: names as the user wrote them, with positions for error messages. */

/** 1-based line and column, and the 0-based offset, of a token in the query text. */
export interface Position {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

export interface Name {
  readonly text: string;
  readonly at: Position;
}

export type Literal = { readonly kind: "string"; readonly value: string; readonly at: Position } | { readonly kind: "number"; readonly value: number; readonly at: Position };

export type ComparisonOperator = "=" | ">" | "<" | ">=" | "<=" | "!=";

export type Condition =
  | { readonly kind: "compare"; readonly column: Name; readonly op: ComparisonOperator; readonly value: Literal }
  | { readonly kind: "like"; readonly column: Name; readonly negated: boolean; readonly pattern: Literal }
  | { readonly kind: "in"; readonly column: Name; readonly negated: boolean; readonly values: readonly Literal[] };

export interface OrderItem {
  readonly column: Name;
  readonly direction: "ASC" | "DESC";
}

export interface ReportQueryAst {
  readonly distinct: boolean;
  readonly select: readonly Name[];
  readonly from: Name;
  readonly where: readonly Condition[];
  readonly orderBy: readonly OrderItem[];
  readonly limit: { readonly value: number; readonly at: Position } | undefined;
  readonly timespan: Name | undefined;
}
