// Admin listener (no auth, no security headers): /admin/jobs (custom schema) and /admin/graphql
// (Seaography schema built without a DatabaseConnection in its context, so entity queries fail).
import { createServer, type Server } from 'node:http';
import {
  GraphQLBoolean,
  GraphQLInt,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  graphql,
  type GraphQLFieldConfigMap,
} from 'graphql';
import type { Db } from './db.js';
import { readBody, sendHtml, sendJson } from './http-util.js';
import { AVAILABLE_JOBS, triggerJob } from './jobs.js';

const nn = <T extends import('graphql').GraphQLType>(t: T) => new GraphQLNonNull(t);

function jobsSchema(db: Db): GraphQLSchema {
  const JobLog = new GraphQLObjectType({
    name: 'JobLog',
    fields: {
      id: { type: nn(GraphQLInt) },
      jobName: { type: nn(GraphQLString) },
      startedAt: { type: nn(GraphQLInt) },
      completedAt: { type: GraphQLInt },
      success: { type: GraphQLInt },
      errorMessage: { type: GraphQLString },
      recordsProcessed: { type: GraphQLInt },
    },
  });
  const JobInfo = new GraphQLObjectType({
    name: 'JobInfo',
    fields: {
      name: { type: nn(GraphQLString) },
      description: { type: nn(GraphQLString) },
      schedule: { type: nn(GraphQLString) },
    },
  });
  const JobTriggerResult = new GraphQLObjectType({
    name: 'JobTriggerResult',
    fields: {
      success: { type: nn(GraphQLBoolean) },
      message: { type: nn(GraphQLString) },
      jobName: { type: nn(GraphQLString) },
    },
  });
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));
  return new GraphQLSchema({
    query: new GraphQLObjectType({
      name: 'AdminQuery',
      fields: {
        jobLogs: {
          type: nn(new GraphQLList(nn(JobLog))),
          args: {
            jobName: { type: GraphQLString },
            limit: { type: nn(GraphQLInt), defaultValue: 100 },
            onlyFailures: { type: GraphQLBoolean },
          },
          resolve: async (_s, a: { jobName?: string | null; limit: number; onlyFailures?: boolean | null }) => {
            const where: string[] = [];
            const params: (string | number)[] = [];
            if (a.jobName != null) {
              where.push('job_name = ?');
              params.push(a.jobName);
            }
            if (a.onlyFailures === true) where.push('success = 0'); // NULL (running/unknown) rows excluded
            const rows = await db.all(
              `SELECT * FROM job_executions ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY started_at DESC LIMIT ?`,
              [...params, Math.max(0, a.limit)],
            );
            return rows.map((r) => ({
              id: Number(r.id),
              jobName: r.job_name,
              startedAt: Number(r.started_at),
              completedAt: num(r.completed_at),
              success: num(r.success),
              errorMessage: r.error_message ?? null,
              recordsProcessed: num(r.records_processed),
            }));
          },
        },
        availableJobs: { type: nn(new GraphQLList(nn(JobInfo))), resolve: () => AVAILABLE_JOBS },
      },
    }),
    mutation: new GraphQLObjectType({
      name: 'AdminMutation',
      fields: {
        triggerJob: {
          type: nn(JobTriggerResult),
          args: { jobName: { type: nn(GraphQLString) } },
          resolve: async (_s, { jobName }: { jobName: string }) => {
            try {
              await triggerJob(db, jobName);
              return { success: true, message: `Job '${jobName}' triggered successfully`, jobName };
            } catch (e) {
              return {
                success: false,
                message: `Failed to trigger job '${jobName}': ${(e as Error).message}`,
                jobName,
              };
            }
          },
        },
      },
    }),
  });
}

// Entities Seaography registers, with their columns; field names are camelCase like Seaography's.
const ENTITIES: Record<string, string[]> = {
  users: [
    'subject',
    'username',
    'password_hash',
    'email',
    'email_verified',
    'created_at',
    'enabled',
    'requires_2fa',
    'passkey_enrolled_at',
  ],
  clients: ['client_id', 'client_secret', 'client_name', 'redirect_uris', 'created_at'],
  sessions: [
    'session_id',
    'subject',
    'auth_time',
    'created_at',
    'expires_at',
    'user_agent',
    'ip_address',
    'amr',
    'acr',
    'mfa_verified',
  ],
  access_tokens: ['token', 'client_id', 'subject', 'scope', 'created_at', 'expires_at', 'revoked'],
  auth_codes: [
    'code',
    'client_id',
    'redirect_uri',
    'scope',
    'subject',
    'nonce',
    'code_challenge',
    'code_challenge_method',
    'created_at',
    'expires_at',
    'consumed',
    'auth_time',
  ],
  refresh_tokens: ['token', 'client_id', 'subject', 'scope', 'created_at', 'expires_at', 'revoked', 'parent_token'],
  properties: ['owner', 'key', 'value', 'updated_at'],
  job_executions: ['id', 'job_name', 'started_at', 'completed_at', 'success', 'error_message', 'records_processed'],
};
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const pascal = (s: string) => camel(s).replace(/^./, (c) => c.toUpperCase());
const MISSING_DB = 'Data `sea_orm::database::db_connection::DatabaseConnection` does not exist.';

function seaographySchema(): GraphQLSchema {
  const PageInfo = new GraphQLObjectType({
    name: 'PageInfo',
    fields: {
      hasPreviousPage: { type: nn(GraphQLBoolean) },
      hasNextPage: { type: nn(GraphQLBoolean) },
      startCursor: { type: GraphQLString },
      endCursor: { type: GraphQLString },
    },
  });
  const PaginationInfo = new GraphQLObjectType({
    name: 'PaginationInfo',
    fields: {
      pages: { type: nn(GraphQLInt) },
      current: { type: nn(GraphQLInt) },
      offset: { type: nn(GraphQLInt) },
      total: { type: nn(GraphQLInt) },
    },
  });
  const fields: GraphQLFieldConfigMap<unknown, unknown> = {};
  for (const [table, cols] of Object.entries(ENTITIES)) {
    const Node = new GraphQLObjectType({
      name: pascal(table),
      fields: Object.fromEntries(cols.map((c) => [camel(c), { type: GraphQLString }])),
    });
    const Edge = new GraphQLObjectType({
      name: `${pascal(table)}Edge`,
      fields: { cursor: { type: nn(GraphQLString) }, node: { type: nn(Node) } },
    });
    const Conn = new GraphQLObjectType({
      name: `${pascal(table)}Connection`,
      fields: {
        nodes: { type: nn(new GraphQLList(nn(Node))) },
        edges: { type: nn(new GraphQLList(nn(Edge))) },
        pageInfo: { type: nn(PageInfo) },
        paginationInfo: { type: PaginationInfo },
      },
    });
    fields[camel(table)] = {
      type: nn(Conn),
      args: { filters: { type: GraphQLString }, orderBy: { type: GraphQLString }, pagination: { type: GraphQLString } },
      resolve: () => {
        throw new Error(MISSING_DB);
      },
    };
  }
  fields._sea_orm_entity_metadata = {
    type: GraphQLString,
    args: { table_name: { type: nn(GraphQLString) } },
    resolve: () => null,
  };
  return new GraphQLSchema({
    query: new GraphQLObjectType({ name: 'Query', fields }),
    mutation: new GraphQLObjectType({
      name: 'Mutation',
      fields: { _ping: { type: GraphQLString, resolve: () => 'pong' } },
    }),
  });
}

const graphiql = (endpoint: string) =>
  `<!DOCTYPE html><html><head><title>GraphiQL</title></head><body><div id="graphiql" data-endpoint="${endpoint}">Loading…</div></body></html>`;

export function createAdminServer(db: Db): Server {
  const schemas: Record<string, GraphQLSchema> = {
    '/admin/jobs': jobsSchema(db),
    '/admin/graphql': seaographySchema(),
  };
  const playgrounds: Record<string, string> = {
    '/admin/playground': '/admin/graphql',
    '/admin/jobs/playground': '/admin/jobs',
  };
  return createServer(async (req, res) => {
    const p = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (playgrounds[p] && req.method === 'GET') return sendHtml(res, 200, graphiql(playgrounds[p]!));
    const schema = schemas[p];
    if (!schema) {
      res.writeHead(404, { 'content-length': 0 });
      return void res.end();
    }
    if (req.method !== 'POST') {
      res.writeHead(405, { 'content-length': 0 });
      return void res.end();
    }
    let body: { query?: string; variables?: Record<string, unknown>; operationName?: string };
    try {
      body = JSON.parse(await readBody(req));
    } catch (e) {
      return sendJson(res, 400, { errors: [{ message: `invalid request: ${(e as Error).message}` }] });
    }
    const result = await graphql({
      schema,
      source: body.query ?? '',
      variableValues: body.variables,
      operationName: body.operationName,
    });
    sendJson(res, 200, result);
  });
}
