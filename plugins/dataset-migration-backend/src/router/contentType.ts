import { CustomErrorBase } from '@backstage/errors';
import type express from 'express';

/**
 * 415: the request body is not JSON. `@backstage/errors` has no such class;
 * the backend's error middleware answers with the error's numeric
 * `statusCode` before it looks at the name.
 */
export class UnsupportedMediaTypeError extends CustomErrorBase {
  name = 'UnsupportedMediaTypeError' as const;
  readonly statusCode = 415;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/** The media type of a Content-Type header, without parameters. */
function mediaType(header: string): string {
  const type = header.split(';')[0].trim().toLowerCase();
  // It is echoed back: keep it short and printable.
  return type.replace(/[^\x21-\x7e]/g, '?').slice(0, 100);
}

/**
 * Refuses a non-empty body sent as anything but JSON (`application/json`,
 * `application/*+json`) with a 415 naming the content type, instead of
 * letting the JSON parser skip it and validation report every field as
 * missing. Requests without a body pass.
 */
export function requireJsonBody(): express.RequestHandler {
  return (req, _res, next) => {
    if (
      !BODY_METHODS.has(req.method) ||
      req.headers['content-length'] === '0'
    ) {
      next();
      return;
    }
    // null: no body at all; a string: a JSON type.
    const match = req.is(['application/json', '+json']);
    if (match === null || match) {
      next();
      return;
    }
    const header = req.headers['content-type'];
    next(
      new UnsupportedMediaTypeError(
        header
          ? `Unsupported content type '${mediaType(
              header,
            )}': send the request body as application/json`
          : 'The request body has no content type: send it as application/json',
      ),
    );
  };
}
