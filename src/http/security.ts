/**
 * The OpenAPI `security` of a route, naming the schemes of src/plugins/docs.ts. Each list matches
 * the hook the route runs: `SIGNED_IN` with `app.authenticate` (and `authenticateAdmin`),
 * `OPTIONAL_SIGN_IN` with `app.authenticateOptional`.
 */
type SecurityRequirements = { [scheme: string]: string[] }[];

/** A token is required: the RealWorld `Token` header or an OAuth2 bearer token. */
export const SIGNED_IN: SecurityRequirements = [{ Token: [] }, { OAuth2: [] }];
/** The empty requirement marks sign-in as optional (it only fills viewer-specific fields). */
export const OPTIONAL_SIGN_IN: SecurityRequirements = [{}, { Token: [] }, { OAuth2: [] }];
