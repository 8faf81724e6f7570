// A member app's calls, typed by the types openapi-typescript generates from the served schema
// (tests/clients/run.sh writes generated/api.d.ts). `tsc --strict --noEmit` must accept it: a
// field renamed, made optional or widened in the schema breaks this file. The types are generated
// with `--default-non-nullable false`: a request field with a default stays optional, as the server
// treats it (docs/api-clients.md).
import type { components, paths } from "./generated/api";

type Booking = components["schemas"]["Booking"];
type Session = components["schemas"]["Session"];
type BookingCreate = paths["/api/bookings"]["post"]["requestBody"]["content"]["application/json"];
type BookingConflict = paths["/api/bookings"]["post"]["responses"][409]["content"]["application/json"];
type Ledger = paths["/api/members/{id}/credit-transactions"]["get"]["responses"][200]["content"]["application/json"];
type Redeem = paths["/api/packages/redeem"]["post"]["requestBody"]["content"]["application/json"];

export interface Api {
  base: string;
  studio: string;
  token?: string;
}

async function call<T>(api: Api, method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { "X-Organization": api.studio, "Content-Type": "application/json" };
  if (api.token !== undefined) headers["Authorization"] = `Bearer ${api.token}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(`${api.base}${path}`, init);
  if (!response.ok) {
    const error = (await response.json()) as components["schemas"]["NotFoundError"];
    throw new Error(`${response.status} ${error.code}: ${error.detail}`);
  }
  return (await response.json()) as T;
}

// The codes a client must handle when booking are a closed set it can switch over.
export function explain(conflict: BookingConflict): string {
  switch (conflict.code) {
    case "session_full":
      return "The class is full: join the waitlist.";
    case "insufficient_credits":
      return "Not enough credits: buy a package.";
    case "busy":
      return "Try again in a moment.";
    default:
      return conflict.detail;
  }
}

// @ts-expect-error: a coupon refusal is not one of the codes booking answers
export const notABookingCode: BookingConflict["code"] = "coupon_expired";

export function rideLine(booking: Booking): string {
  const bike = booking.seat === null ? "any bike" : `bike ${booking.seat.label}`;
  return `${booking.session.class_name} at ${booking.session.starts_at} with ${booking.session.instructor_name}, ${bike}`;
}

export function bookable(session: Session): boolean {
  return session.status === "SCHEDULED" && session.available_spots > 0 && session.my_booking_id === null;
}

export async function bookFirstFreeRide(api: Api, from: string, to: string): Promise<Booking | null> {
  const week = await call<paths["/api/sessions"]["get"]["responses"][200]["content"]["application/json"]>(
    api,
    "GET",
    `/api/sessions?from=${from}&to=${to}`,
  );
  const session = week.results.find(bookable);
  if (session === undefined) return null;
  const body: BookingCreate = { session_id: session.id, payment_method: "AUTO" };
  return call<Booking>(api, "POST", "/api/bookings", body);
}

export async function balanceMoves(api: Api, memberId: string): Promise<number[]> {
  const ledger = await call<Ledger>(api, "GET", `/api/members/${memberId}/credit-transactions`);
  return ledger.results.map((row) => row.amount);
}

export function askFor(packageId: string): Redeem {
  return { package_id: packageId, coupon_code: null };
}
