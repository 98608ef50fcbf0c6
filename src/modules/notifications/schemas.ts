import { Type } from 'typebox';
import { NOTIFICATION_KINDS, UNSUBSCRIBE_TOKEN_MAX_LENGTH } from '../../email/unsubscribe.js';

const preferenceSwitches = {
  newFollower: Type.Boolean({ description: 'Someone follows you' }),
  newComment: Type.Boolean({ description: 'Someone comments on one of your articles' }),
  newArticle: Type.Boolean({ description: 'Someone you follow publishes an article' }),
  weeklyDigest: Type.Boolean({ description: "The week's most favorited articles from people you follow" }),
};

export const PreferencesResponse = Type.Object({
  notifications: Type.Object(preferenceSwitches),
});

export const UpdatePreferencesBody = Type.Object(
  {
    notifications: Type.Object(
      {
        newFollower: Type.Optional(preferenceSwitches.newFollower),
        newComment: Type.Optional(preferenceSwitches.newComment),
        newArticle: Type.Optional(preferenceSwitches.newArticle),
        weeklyDigest: Type.Optional(preferenceSwitches.weeklyDigest),
      },
      { additionalProperties: false, description: 'Only the switches given change' },
    ),
  },
  { additionalProperties: false },
);

export const UnsubscribeQuery = Type.Object({
  token: Type.String({
    minLength: 1,
    maxLength: UNSUBSCRIBE_TOKEN_MAX_LENGTH,
    description: 'The signed token from the email link',
  }),
});

export const UnsubscribeResponse = Type.Object({
  unsubscribed: Type.Object({
    kind: Type.Enum(NOTIFICATION_KINDS),
    notifications: Type.Object(preferenceSwitches),
  }),
});
